fn main() {
    // Let the extension find libtorch inside the installed `torch` package next to `genaug`,
    // so `import genaug._core` works without LD_LIBRARY_PATH.
    println!("cargo:rustc-link-arg-cdylib=-Wl,-rpath,$ORIGIN/../torch/lib");
}
