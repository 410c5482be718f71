#[test] fn t(){ assert!(std::path::Path::new(env!("CARGO_BIN_EXE_aotdb")).exists()); }
