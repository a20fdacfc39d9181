//! Re-embed whenever the built front end changes (the derive macro alone does not see new or renamed files).
fn main() {
    println!("cargo:rerun-if-changed=dist");
}
