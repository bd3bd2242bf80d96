// Command roomkey-go-ref runs LiveKit's Go reference, the auth package of
// github.com/livekit/protocol (the code the LiveKit server itself verifies tokens with), for
// roomkey's interop tests. Like interop/node and interop/python it reads one JSON document on
// stdin and writes one on stdout (see interop/README.md):
//
//	roomkey-go-ref mint    {"apiKey","apiSecret","now","specs":[{"id","ttl","claims"}]}
//	                       -> [{"id","token","unsupported":[claim paths protocol cannot express]}]
//	roomkey-go-ref verify  {"apiKey","apiSecret","tokens":[{"id","token"}]}
//	                       -> [{"id","ok":true,"claims","registered","effective"} | {"id","ok":false,"error"}]
//	roomkey-go-ref decode  {"tokens":[{"id","token"}]}
//	                       -> [{"id","ok":true,"apiKey","identity"} | {"id","ok":false,"error"}]
//
// and, unlike those, a server (webhook.go):
//
//	roomkey-go-ref webhook-receive [PORT]   LIVEKIT_API_KEY, LIVEKIT_API_SECRET in the environment
//	                       stdout: {"listening":"http://127.0.0.1:PORT"}, then per request
//	                       {"ok":true,"event","id","room","error":null} | {"ok":false,…,"error"}
//
// Problems with the input or the build exit with status 2 and a message on stderr; a token
// that does not verify is a result, not a problem.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"
)

// pinnedProtocol is the version livekit-server v1.13.5 builds with. The check in main keeps a
// drifted go.mod from passing the tests under the wrong reference.
const (
	protocolModule = "github.com/livekit/protocol"
	pinnedProtocol = "v1.50.5-0.20260728075222-28e604c046c6"
)

const usage = "usage: roomkey-go-ref mint|verify|decode < request.json, or roomkey-go-ref webhook-receive [PORT]"

func main() {
	if len(os.Args) < 2 {
		fail(usage)
	}
	checkPinnedProtocol()
	if os.Args[1] == "webhook-receive" {
		if err := webhookReceive(os.Args[2:]); err != nil {
			fail(err.Error())
		}
		return
	}
	if len(os.Args) != 2 {
		fail(usage)
	}
	var (
		out any
		err error
	)
	switch os.Args[1] {
	case "mint":
		out, err = mint(os.Stdin)
	case "verify":
		out, err = verify(os.Stdin)
	case "decode":
		out, err = decode(os.Stdin)
	default:
		err = fmt.Errorf("unknown subcommand %q (mint, verify, decode or webhook-receive)", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("writing stdout: " + err.Error())
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "roomkey-go-ref:", message)
	os.Exit(2)
}

func checkPinnedProtocol() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fail("no build information; build with `bash interop/setup.sh`")
	}
	for _, dep := range info.Deps {
		if dep.Path == protocolModule {
			if dep.Replace != nil || dep.Version != pinnedProtocol {
				fail(fmt.Sprintf("built with %s %s, %s is pinned; run interop/setup.sh", protocolModule, dep.Version, pinnedProtocol))
			}
			return
		}
	}
	fail(protocolModule + " is not in the build; run interop/setup.sh")
}

func readRequest(r io.Reader, into any) error {
	if err := json.NewDecoder(r).Decode(into); err != nil {
		return fmt.Errorf("stdin is not the expected JSON: %w", err)
	}
	return nil
}

// ---- mint ------------------------------------------------------------------

type mintRequest struct {
	APIKey    string `json:"apiKey"`
	APISecret string `json:"apiSecret"`
	Now       *int64 `json:"now"` // unix seconds; null: the real clock
	Specs     []struct {
		ID     string                     `json:"id"`
		TTL    int64                      `json:"ttl"`
		Claims map[string]json.RawMessage `json:"claims"`
	} `json:"specs"`
}

type minted struct {
	ID          string   `json:"id"`
	Token       string   `json:"token"`
	Unsupported []string `json:"unsupported"`
}

func mint(r io.Reader) (any, error) {
	var req mintRequest
	if err := readRequest(r, &req); err != nil {
		return nil, err
	}
	out := make([]minted, 0, len(req.Specs))
	for _, spec := range req.Specs {
		if spec.TTL <= 0 {
			return nil, fmt.Errorf("spec %s: ttl must be positive", spec.ID)
		}
		at := auth.NewAccessToken(req.APIKey, req.APISecret).SetValidFor(time.Duration(spec.TTL) * time.Second)
		unsupported, err := build(at, spec.Claims)
		if err != nil {
			return nil, fmt.Errorf("spec %s: %w", spec.ID, err)
		}
		token, err := toJWT(at, req.APIKey, req.APISecret, req.Now)
		if err != nil {
			return nil, fmt.Errorf("spec %s: %w", spec.ID, err)
		}
		out = append(out, minted{ID: spec.ID, Token: token, Unsupported: unsupported})
	}
	return out, nil
}

// build sets the spec's claims on the AccessToken through its setters, as a Go user would.
// Claims and grant fields that protocol's types do not have are left out and returned; which
// ones those are is read from the types' JSON tags, so it follows the pinned protocol.
func build(at *auth.AccessToken, claims map[string]json.RawMessage) ([]string, error) {
	unsupported := []string{} // [] rather than null in the output
	// The spec's identity is its "sub"; ClaimGrants calls it "identity" and ToJWT writes both.
	known := jsonFields(reflect.TypeFor[auth.ClaimGrants]())
	known["sub"] = true
	delete(known, "identity")
	setString := map[string]func(string) *auth.AccessToken{
		"sub":        at.SetIdentity,
		"name":       at.SetName,
		"metadata":   at.SetMetadata,
		"sha256":     at.SetSha256,
		"roomPreset": at.SetRoomPreset,
	}
	for _, name := range sortedKeys(claims) {
		raw := claims[name]
		if !known[name] {
			unsupported = append(unsupported, name)
			continue
		}
		var err error
		switch name {
		case "sub", "name", "metadata", "sha256", "roomPreset":
			var s string
			if err = strict(raw, &s); err == nil {
				setString[name](s)
			}
		case "attributes":
			var m map[string]string
			if err = strict(raw, &m); err == nil {
				at.SetAttributes(m)
			}
		case "kind":
			var s string
			if err = strict(raw, &s); err == nil {
				var kind livekit.ParticipantInfo_Kind
				if kind, err = enumValue[livekit.ParticipantInfo_Kind](livekit.ParticipantInfo_Kind_value, s); err == nil {
					at.SetKind(kind)
				}
			}
		case "kindDetails":
			var names []string
			if err = strict(raw, &names); err == nil {
				details := make([]livekit.ParticipantInfo_KindDetail, 0, len(names))
				for _, s := range names {
					var d livekit.ParticipantInfo_KindDetail
					if d, err = enumValue[livekit.ParticipantInfo_KindDetail](livekit.ParticipantInfo_KindDetail_value, s); err != nil {
						break
					}
					details = append(details, d)
				}
				at.SetKindDetail(details...)
			}
		case "video":
			var g *auth.VideoGrant
			if g, err = grant[auth.VideoGrant](name, raw, &unsupported); err == nil {
				err = setSources(g)
				at.SetVideoGrant(g)
			}
		case "sip":
			var g *auth.SIPGrant
			if g, err = grant[auth.SIPGrant](name, raw, &unsupported); err == nil {
				at.SetSIPGrant(g)
			}
		case "agent":
			var g *auth.AgentGrant
			if g, err = grant[auth.AgentGrant](name, raw, &unsupported); err == nil {
				at.SetAgentGrant(g)
			}
		case "inference":
			var g *auth.InferenceGrant
			if g, err = grant[auth.InferenceGrant](name, raw, &unsupported); err == nil {
				at.SetInferenceGrant(g)
			}
		case "observability":
			var g *auth.ObservabilityGrant
			if g, err = grant[auth.ObservabilityGrant](name, raw, &unsupported); err == nil {
				at.SetObservabilityGrant(g)
			}
		case "roomConfig":
			// Strict protojson (not protocol's permissive wrapper, which discards unknown
			// fields): a field this protocol does not have must fail, not vanish.
			config := &livekit.RoomConfiguration{}
			if err = protojson.Unmarshal(raw, config); err == nil {
				at.SetRoomConfig(config)
			}
		default:
			err = errors.New("protocol knows this claim, this helper does not")
		}
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", name, err)
		}
	}
	slices.Sort(unsupported)
	return unsupported, nil
}

// grant reads a grant object into protocol's type, keeping only the fields the type has (the
// others are appended to unsupported as "claim.field"). Names must match exactly: this is
// input to Go, not Go's case-insensitive reading of a token.
func grant[T any](claim string, raw json.RawMessage, unsupported *[]string) (*T, error) {
	var fields map[string]json.RawMessage
	if err := strict(raw, &fields); err != nil {
		return nil, err
	}
	known := jsonFields(reflect.TypeFor[T]())
	kept := make(map[string]json.RawMessage, len(fields))
	for _, name := range sortedKeys(fields) {
		if known[name] {
			kept[name] = fields[name]
		} else {
			*unsupported = append(*unsupported, claim+"."+name)
		}
	}
	text, err := json.Marshal(kept)
	if err != nil {
		return nil, err
	}
	g := new(T)
	return g, strict(text, g)
}

// setSources passes canPublishSources through VideoGrant.SetCanPublishSources, the typed setter
// a Go caller uses, so that an unknown source name is an error here.
func setSources(g *auth.VideoGrant) error {
	if g.CanPublishSources == nil {
		return nil
	}
	sources := make([]livekit.TrackSource, 0, len(g.CanPublishSources))
	for _, s := range g.CanPublishSources {
		source, err := enumValue[livekit.TrackSource](livekit.TrackSource_value, s)
		if err != nil {
			return err
		}
		sources = append(sources, source)
	}
	g.SetCanPublishSources(sources)
	return nil
}

// enumValue maps a lower-case wire name ("screen_share") to its protobuf enum value, the
// inverse of protocol's strings.ToLower(value.String()).
func enumValue[E ~int32](values map[string]int32, name string) (E, error) {
	v, ok := values[strings.ToUpper(name)]
	if !ok || strings.ToLower(name) != name {
		return 0, fmt.Errorf("%q is not a known name", name)
	}
	return E(v), nil
}

// toJWT signs the token. With the real clock that is AccessToken.ToJWT itself. ToJWT reads
// time.Now() and cannot be given a time, so for a pinned clock the helper signs the token's
// grants itself the way ToJWT does (protocol's claim layout, golang-jwt's NewWithClaims with
// HS256, the secret's bytes) after checking that this reproduces ToJWT's token byte for byte
// at ToJWT's own times. ToJWT still runs first for its checks (keys, egress credentials).
func toJWT(at *auth.AccessToken, apiKey, secret string, now *int64) (string, error) {
	live, err := at.ToJWT()
	if err != nil || now == nil {
		return live, err
	}
	times := &jwt.RegisteredClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(live, times); err != nil {
		return "", fmt.Errorf("reading ToJWT's token: %w", err)
	}
	issued := times.IssuedAt.Time
	validFor := times.ExpiresAt.Sub(issued)
	again, err := signAt(at.GetGrants(), apiKey, secret, issued, validFor)
	if err != nil {
		return "", err
	}
	if again != live {
		return "", fmt.Errorf("signing the grants again does not reproduce ToJWT:\n%s\n%s", live, again)
	}
	return signAt(at.GetGrants(), apiKey, secret, time.Unix(*now, 0), validFor)
}

// signedClaims has the layout of protocol's unexported tokenClaims: the registered claims
// first, then the grants, both embedded, so encoding/json writes them in that order.
type signedClaims struct {
	jwt.RegisteredClaims
	auth.ClaimGrants
}

func signAt(grants *auth.ClaimGrants, apiKey, secret string, now time.Time, validFor time.Duration) (string, error) {
	claims := signedClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    apiKey,
			Subject:   grants.Identity,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(validFor)),
		},
		ClaimGrants: *grants,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// ---- verify and decode -------------------------------------------------------

type tokenRequest struct {
	APIKey    string `json:"apiKey"`
	APISecret string `json:"apiSecret"`
	Tokens    []struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	} `json:"tokens"`
}

type result struct {
	ID  string `json:"id"`
	OK  bool   `json:"ok"`
	Err string `json:"error,omitempty"`
	// verify
	Claims     *auth.ClaimGrants     `json:"claims,omitempty"`
	Registered *jwt.RegisteredClaims `json:"registered,omitempty"`
	Effective  *effective            `json:"effective,omitempty"`
	// decode
	APIKey   *string `json:"apiKey,omitempty"`
	Identity *string `json:"identity,omitempty"`
}

// effective is what the server grants, read through VideoGrant's getters (the ones
// ToPermission uses), so that the tests need not restate Go's defaults for unset permissions.
// Without a video grant they are the getters of an empty grant.
type effective struct {
	CanPublish            bool `json:"canPublish"`
	CanSubscribe          bool `json:"canSubscribe"`
	CanPublishData        bool `json:"canPublishData"`
	CanUpdateOwnMetadata  bool `json:"canUpdateOwnMetadata"`
	CanSubscribeMetrics   bool `json:"canSubscribeMetrics"`
	CanManageAgentSession bool `json:"canManageAgentSession"`
}

// verify checks each token as the LiveKit server's APIKeyAuthMiddleware does: ParseAPIToken
// without the secret, the secret looked up by the token's issuer (here a key set of one), then
// Verify(secret) with protocol's options (HS256, 60 s leeway) and the real clock.
func verify(r io.Reader) (any, error) {
	var req tokenRequest
	if err := readRequest(r, &req); err != nil {
		return nil, err
	}
	out := make([]result, 0, len(req.Tokens))
	for _, t := range req.Tokens {
		res := result{ID: t.ID}
		v, err := auth.ParseAPIToken(t.Token)
		if err == nil && v.APIKey() != req.APIKey {
			err = fmt.Errorf("invalid API key: %s", v.APIKey()) // the server's wording
		}
		var (
			registered *jwt.RegisteredClaims
			grants     *auth.ClaimGrants
		)
		if err == nil {
			registered, grants, err = v.Verify(req.APISecret)
		}
		if err != nil {
			res.Err = describe(err)
		} else {
			video := grants.Video
			if video == nil {
				video = &auth.VideoGrant{}
			}
			res.OK, res.Claims, res.Registered = true, grants, registered
			res.Effective = &effective{
				CanPublish:            video.GetCanPublish(),
				CanSubscribe:          video.GetCanSubscribe(),
				CanPublishData:        video.GetCanPublishData(),
				CanUpdateOwnMetadata:  video.GetCanUpdateOwnMetadata(),
				CanSubscribeMetrics:   video.GetCanSubscribeMetrics(),
				CanManageAgentSession: video.GetCanManageAgentSession(),
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// decode reads what protocol reads of a token before it has the secret: ParseAPIToken's API key
// (to look the secret up) and identity. protocol has no unverified reader of the grants.
func decode(r io.Reader) (any, error) {
	var req tokenRequest
	if err := readRequest(r, &req); err != nil {
		return nil, err
	}
	out := make([]result, 0, len(req.Tokens))
	for _, t := range req.Tokens {
		res := result{ID: t.ID}
		if v, err := auth.ParseAPIToken(t.Token); err != nil {
			res.Err = describe(err)
		} else {
			key, identity := v.APIKey(), v.Identity()
			res.OK, res.APIKey, res.Identity = true, &key, &identity
		}
		out = append(out, res)
	}
	return out, nil
}

// describe prefixes an error with the name of the golang-jwt (or protocol) sentinel it wraps,
// most specific first, so tests can match the reason without parsing prose.
func describe(err error) string {
	sentinels := []struct {
		name string
		err  error
	}{
		{"ErrNoAuthHeader", webhook.ErrNoAuthHeader},
		{"ErrSecretNotFound", webhook.ErrSecretNotFound},
		{"ErrInvalidChecksum", webhook.ErrInvalidChecksum},
		{"ErrKeysMissing", auth.ErrKeysMissing},
		{"ErrTokenExpired", jwt.ErrTokenExpired},
		{"ErrTokenNotValidYet", jwt.ErrTokenNotValidYet},
		{"ErrTokenUsedBeforeIssued", jwt.ErrTokenUsedBeforeIssued},
		{"ErrTokenInvalidIssuer", jwt.ErrTokenInvalidIssuer},
		{"ErrTokenRequiredClaimMissing", jwt.ErrTokenRequiredClaimMissing},
		{"ErrTokenSignatureInvalid", jwt.ErrTokenSignatureInvalid},
		{"ErrTokenUnverifiable", jwt.ErrTokenUnverifiable},
		{"ErrTokenMalformed", jwt.ErrTokenMalformed},
		{"ErrTokenInvalidClaims", jwt.ErrTokenInvalidClaims},
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name + ": " + err.Error()
		}
	}
	return err.Error()
}

// ---- helpers -----------------------------------------------------------------

// strict decodes JSON that must fit v exactly (no unknown fields, nothing after it).
func strict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// jsonFields is the set of JSON names of a struct's fields, from their tags.
func jsonFields(t reflect.Type) map[string]bool {
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
