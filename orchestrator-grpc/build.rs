fn main() -> Result<(), Box<dyn std::error::Error>> {
    // protoc comes from the protoc-bin-vendored crate, so no system protoc is needed.
    std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = out.join("orchestrator_descriptor.bin");
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptors)
        .compile_protos(&["../proto/orchestrator/v1/orchestrator.proto"], &["../proto"])?;
    // serde Serialize/Deserialize in the protobuf JSON mapping (orchestrator.v1.serde.rs).
    pbjson_build::Builder::new().register_descriptors(&std::fs::read(&descriptors)?)?.build(&[".orchestrator.v1"])?;
    println!("cargo:rerun-if-changed=../proto/orchestrator/v1/orchestrator.proto");
    Ok(())
}
