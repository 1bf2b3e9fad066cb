// rule: {"type": "naming", "target": "function", "style": "snake_case"}
pub fn parse_header() {}
pub fn parseBody() {} // ~
fn r#match() {}
fn _private_helper() {}

pub struct Widget;

impl Widget {
    pub fn newWidget() -> Self { // ~
        Widget
    }
}

pub trait Legacy {
    fn doThing(&self); // ~
}

// A trait impl's method names come from the trait: not this codebase's choice.
impl Legacy for Widget {
    fn doThing(&self) {}
}

extern "C" {
    // Foreign functions are named by the foreign library.
    fn getVersion() -> u32;
}
