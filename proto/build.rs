//! Generates the Rust types from `proto/hexproof/v1/*.proto` with a pure-Rust protobuf compiler
//! (protox), so a fresh machine needs no system `protoc` and no network.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "hexproof/v1/poc.proto",
    "hexproof/v1/packets.proto",
    "hexproof/v1/explorer.proto",
    "hexproof/v1/quorum.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let grpc = env::var_os("CARGO_FEATURE_GRPC").is_some();

    let descriptors = protox::compile(PROTOS, ["proto"])?;
    // The encoded descriptor set serves gRPC server reflection.
    fs::write(
        out_dir.join("hexproof_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_server(grpc)
        .build_client(grpc)
        .build_transport(grpc)
        .compile_fds(descriptors)?;
    Ok(())
}
