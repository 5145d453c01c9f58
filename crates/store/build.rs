// Re-embed migrations when a migration folder is added or edited.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
