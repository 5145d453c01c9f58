use super::plan::Builder;
use super::source::Node;

pub(super) fn import(root: Node, b: &mut Builder) {
    let _ = root;
    b.problem("", "not read yet");
}
