//! Target `config`: the input as a configuration file. `Config::parse` never panics, and never
//! accepts a file that it refuses once the file has been read as TOML and written out again
//! (`toml::from_str` → `toml::to_string`).

use roomkey_server::Config;

use super::env;

pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if Config::parse("fuzz.toml", text, &env(), None).is_err() {
        return;
    }
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        panic!("Config::parse accepted what toml does not read");
    };
    let Ok(again) = toml::to_string(&table) else {
        return; // (toml cannot write every table it reads, e.g. some nestings)
    };
    if let Err(e) = Config::parse("fuzz.toml", &again, &env(), None) {
        panic!("accepted, but refused after a TOML round-trip: {e}\n--- written as:\n{again}");
    }
}
