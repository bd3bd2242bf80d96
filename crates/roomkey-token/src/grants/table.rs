//! The grant table's row type, [`Grant`], and the `grant_table!` macro that declares the grant
//! structs and [`GRANTS`](super::GRANTS) from one list.
//!
//! Each row of that list is one member of one grant claim: its Rust field, its JSON key, its
//! type (which gives its [`Kind`]), what the server reads when it is absent ([`Unset`]), how
//! roomkey's configuration file and command line spell it, and its one-line description. The
//! struct, its serde names and omission rules, the payload writer, the CLI flags, the
//! configuration keys, the action endpoint's switches, the policy checks and the explanation of
//! a verified token are all made from these rows, so adding a grant is one new row.

use std::borrow::Cow;
use std::fmt;

use crate::claims::Claims;
use crate::grants::TrackSource;
use crate::payload::Object;

/// What kind of value a grant member holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A plain boolean, written only when true (absent reads as false).
    Flag,
    /// A boolean written only when set, because the server reads a default for its absence.
    Tri,
    /// A string, written only when not empty.
    Text,
    /// A list of track sources, written only when not empty.
    Sources,
    /// A list of strings, written only when not empty.
    Texts,
}

impl Kind {
    /// Whether a value of this kind is a boolean (a permission switch).
    pub fn is_bool(self) -> bool {
        matches!(self, Kind::Flag | Kind::Tri)
    }
}

/// What the LiveKit server reads when a boolean member is absent from the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unset {
    /// Not granted.
    Off,
    /// Granted.
    On,
    /// Whatever the member with this JSON key (of the same claim) gives.
    Follows(&'static str),
}

/// A member's value, as read from claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value<'a> {
    /// A [`Kind::Flag`].
    Flag(bool),
    /// A [`Kind::Tri`]: `None` when absent.
    Tri(Option<bool>),
    /// A [`Kind::Text`].
    Text(&'a str),
    /// A [`Kind::Sources`].
    Sources(&'a [TrackSource]),
    /// A [`Kind::Texts`].
    Texts(&'a [String]),
}

/// A value to give a member.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// For a [`Kind::Flag`] or a [`Kind::Tri`].
    Bool(bool),
    /// For a [`Kind::Text`].
    Text(String),
    /// For a [`Kind::Sources`].
    Sources(Vec<TrackSource>),
    /// For a [`Kind::Texts`].
    Texts(Vec<String>),
}

/// A [`Setting`] of another kind than the grant member it was given to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} takes a {kind:?} value, not {setting:?}")]
pub struct WrongKind {
    /// The member, e.g. `video.canPublish`.
    pub path: String,
    /// Its kind.
    pub kind: Kind,
    /// What it was given.
    pub setting: Setting,
}

/// One member of a grant claim: a row of [`GRANTS`](super::GRANTS).
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Grant {
    /// The claim it belongs to, as the payload names it (`video`, `sip`, `agentEndpoint`, …).
    pub claim: &'static str,
    /// Its JSON key within that claim (`canPublish`).
    pub key: &'static str,
    /// What kind of value it holds.
    pub kind: Kind,
    /// What the server reads when it is absent (booleans only; [`Unset::Off`] otherwise).
    pub unset: Unset,
    /// How the configuration file (`[profile.NAME.grants]`) names it; the command line uses the
    /// same name with dashes unless [`Grant::flag`] says otherwise. `None` for `video.room`,
    /// which every surface takes as its own room input rather than as a grant setting.
    pub name: Option<&'static str>,
    /// The command-line flag, where it is not [`Grant::name`] with dashes.
    pub flag_override: Option<&'static str>,
    /// Whether roomkey gives it unless told otherwise (only `video.roomJoin`: roomkey mints
    /// tokens that join a room).
    pub roomkey_default: bool,
    /// Its label among the switches of the "Generate Access Token" action (and the web page),
    /// for a member that action takes.
    pub action_label: Option<&'static str>,
    /// The heading it is listed under in `--help` (one per claim).
    pub heading: &'static str,
    pub(super) about: &'static str,
    pub(super) read: for<'a> fn(&'a Claims) -> Option<Value<'a>>,
    pub(super) write: fn(&mut Claims, Setting) -> Result<(), Setting>,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Grant({}.{})", self.claim, self.key)
    }
}

impl PartialEq for Grant {
    fn eq(&self, other: &Grant) -> bool {
        self.claim == other.claim && self.key == other.key
    }
}

impl Eq for Grant {}

impl Grant {
    /// `claim.key`, e.g. `video.canPublish`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.claim, self.key)
    }

    /// Its one-line description.
    pub fn about(&self) -> &'static str {
        self.about.trim()
    }

    /// Its command-line flag, without the leading dashes (`None` for `video.room`).
    pub fn flag(&self) -> Option<Cow<'static, str>> {
        match (self.flag_override, self.name) {
            (Some(flag), _) => Some(Cow::Borrowed(flag)),
            (None, Some(name)) => Some(Cow::Owned(name.replace('_', "-"))),
            (None, None) => None,
        }
    }

    /// Whether it is one of the action's switches.
    pub fn is_action_switch(&self) -> bool {
        self.action_label.is_some()
    }

    /// Its value in `claims`; `None` when the claim it belongs to is absent.
    pub fn get<'a>(&self, claims: &'a Claims) -> Option<Value<'a>> {
        (self.read)(claims)
    }

    /// Gives it a value, adding its claim when absent, except that a plain flag set to false
    /// leaves an absent claim absent (false is what its absence says).
    ///
    /// # Errors
    /// [`WrongKind`] when the setting is not of this member's kind.
    pub fn set(&self, claims: &mut Claims, setting: Setting) -> Result<(), WrongKind> {
        if self.kind == Kind::Flag && setting == Setting::Bool(false) && self.get(claims).is_none()
        {
            return Ok(());
        }
        (self.write)(claims, setting).map_err(|setting| WrongKind {
            path: self.path(),
            kind: self.kind,
            setting,
        })
    }

    /// For a boolean member: whether the server grants it, reading an absent member as
    /// [`Grant::unset`] says. `None` for other kinds and when the claim is absent.
    pub fn effective(&self, claims: &Claims) -> Option<bool> {
        match self.get(claims)? {
            Value::Flag(on) | Value::Tri(Some(on)) => Some(on),
            Value::Tri(None) => match self.unset {
                Unset::Off => Some(false),
                Unset::On => Some(true),
                Unset::Follows(key) => super::grant(self.claim, key)?.effective(claims),
            },
            Value::Text(_) | Value::Sources(_) | Value::Texts(_) => None,
        }
    }
}

/// The value types a grant member may have. Sealed: the kinds are those [`Kind`] lists.
pub(crate) trait Field {
    const KIND: Kind;
    /// Whether the member is left out of the payload.
    fn is_unset(&self) -> bool;
    fn read(&self) -> Value<'_>;
    fn assign(&mut self, setting: Setting) -> Result<(), Setting>;
    /// Appends `"key":value` to `o` unless [`Field::is_unset`].
    fn write_member(&self, o: &mut Object<'_>, key: &str);
}

impl Field for bool {
    const KIND: Kind = Kind::Flag;
    fn is_unset(&self) -> bool {
        !*self
    }
    fn read(&self) -> Value<'_> {
        Value::Flag(*self)
    }
    fn assign(&mut self, setting: Setting) -> Result<(), Setting> {
        let Setting::Bool(on) = setting else {
            return Err(setting);
        };
        *self = on;
        Ok(())
    }
    fn write_member(&self, o: &mut Object<'_>, key: &str) {
        if *self {
            o.raw(key, b"true");
        }
    }
}

impl Field for Option<bool> {
    const KIND: Kind = Kind::Tri;
    fn is_unset(&self) -> bool {
        self.is_none()
    }
    fn read(&self) -> Value<'_> {
        Value::Tri(*self)
    }
    fn assign(&mut self, setting: Setting) -> Result<(), Setting> {
        let Setting::Bool(on) = setting else {
            return Err(setting);
        };
        *self = Some(on);
        Ok(())
    }
    fn write_member(&self, o: &mut Object<'_>, key: &str) {
        if let Some(on) = *self {
            o.raw(key, if on { b"true" } else { b"false" });
        }
    }
}

impl Field for String {
    const KIND: Kind = Kind::Text;
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
    fn read(&self) -> Value<'_> {
        Value::Text(self)
    }
    fn assign(&mut self, setting: Setting) -> Result<(), Setting> {
        let Setting::Text(text) = setting else {
            return Err(setting);
        };
        *self = text;
        Ok(())
    }
    fn write_member(&self, o: &mut Object<'_>, key: &str) {
        if !self.is_empty() {
            o.string(key, self);
        }
    }
}

impl Field for Vec<TrackSource> {
    const KIND: Kind = Kind::Sources;
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
    fn read(&self) -> Value<'_> {
        Value::Sources(self)
    }
    fn assign(&mut self, setting: Setting) -> Result<(), Setting> {
        let Setting::Sources(sources) = setting else {
            return Err(setting);
        };
        *self = sources;
        Ok(())
    }
    fn write_member(&self, o: &mut Object<'_>, key: &str) {
        if !self.is_empty() {
            o.serialized(key, self);
        }
    }
}

impl Field for Vec<String> {
    const KIND: Kind = Kind::Texts;
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
    fn read(&self) -> Value<'_> {
        Value::Texts(self)
    }
    fn assign(&mut self, setting: Setting) -> Result<(), Setting> {
        let Setting::Texts(texts) = setting else {
            return Err(setting);
        };
        *self = texts;
        Ok(())
    }
    fn write_member(&self, o: &mut Object<'_>, key: &str) {
        if !self.is_empty() {
            o.serialized(key, self);
        }
    }
}

/// `Some(x)` for a given optional macro fragment, `None` for a missing one.
macro_rules! some_or_none {
    () => {
        None
    };
    ($x:expr) => {
        Some($x)
    };
}

/// The given [`Unset`], or [`Unset::Off`].
macro_rules! unset_or_off {
    () => {
        $crate::grants::Unset::Off
    };
    ($x:expr) => {
        $x
    };
}

/// Declares the grant structs, `GRANTS` (their members, in payload order) and
/// `write_grant_members` (the payload writer of all of them), from one list. See the module
/// documentation for what a row holds.
macro_rules! grant_table {
    (
        $(
            $(#[$meta:meta])*
            struct $grant:ident in $member:ident as $claim:literal, heading $heading:literal {
                $(
                    #[doc = $about:literal]
                    $field:ident: $ty:ty = $key:literal
                        $(, name $name:literal)?
                        $(, flag $flag:literal)?
                        $(, unset $unset:expr)?
                        $(, action $label:literal)?
                        $(, roomkey_default $on:literal)?
                    ;
                )*
            }
        )*
    ) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
            #[non_exhaustive]
            pub struct $grant {
                $(
                    #[doc = $about]
                    #[serde(
                        rename = $key,
                        default,
                        deserialize_with = "crate::de::nullable",
                        skip_serializing_if = "crate::grants::Field::is_unset"
                    )]
                    pub $field: $ty,
                )*
            }

            impl $grant {
                /// Writes this grant as the payload carries it.
                fn write_json(&self, buf: &mut Vec<u8>) {
                    let mut o = crate::payload::Object::new(buf);
                    $( crate::grants::Field::write_member(&self.$field, &mut o, $key); )*
                    o.finish();
                }
            }
        )*

        /// Every member of every grant claim, claim by claim in payload order.
        pub static GRANTS: &[Grant] = &[
            $( $(
                Grant {
                    claim: $claim,
                    key: $key,
                    kind: <$ty as crate::grants::Field>::KIND,
                    unset: unset_or_off!($($unset)?),
                    name: some_or_none!($($name)?),
                    flag_override: some_or_none!($($flag)?),
                    roomkey_default: false $(|| $on)?,
                    action_label: some_or_none!($($label)?),
                    heading: $heading,
                    about: $about,
                    read: |c| {
                        c.$member.as_ref().map(|g| {
                            let g: &$grant = std::borrow::Borrow::borrow(g);
                            crate::grants::Field::read(&g.$field)
                        })
                    },
                    write: |c, setting| {
                        let g: &mut $grant = std::borrow::BorrowMut::borrow_mut(
                            c.$member.get_or_insert_with(Default::default),
                        );
                        crate::grants::Field::assign(&mut g.$field, setting)
                    },
                },
            )* )*
        ];

        /// Writes `,"video":{…}` to `,"agentThread":{…}`, each grant claim that is present.
        pub(crate) fn write_grant_members(buf: &mut Vec<u8>, c: &Claims) {
            $(
                if let Some(g) = &c.$member {
                    buf.extend_from_slice(concat!(",\"", $claim, "\":").as_bytes());
                    let g: &$grant = std::borrow::Borrow::borrow(g);
                    g.write_json(buf);
                }
            )*
        }
    };
}
