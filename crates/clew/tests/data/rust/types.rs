//! Fixture: type shapes.

/// A point.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

pub struct Meters(pub f64);

struct Marker;

pub struct Cache<K, V>
where
    K: std::hash::Hash,
{
    entries: std::collections::HashMap<K, V>,
    capacity: usize,
}

pub enum Shape {
    Circle { center: Point, radius: f64 },
    Polygon(Vec<Point>),
    Empty,
}

#[repr(u8)]
enum Level {
    Low = 1,
    High = 2,
}

#[repr(C)]
union Bits {
    int: u32,
    float: f32,
}

pub type Result<T> = std::result::Result<T, Error>;

pub trait Store: Send + Sync {
    type Key;
    const NAME: &'static str;

    fn get(&self, key: &Self::Key) -> Option<Vec<u8>>;
    fn put(&mut self, key: Self::Key, value: Vec<u8>);
}

impl Default for Point {
    fn default() -> Self {
        Point { x: 0.0, y: 0.0 }
    }
}

impl<K: std::hash::Hash, V> Store for Cache<K, V> {
    type Key = K;
    const NAME: &'static str = "cache";

    fn get(&self, _key: &K) -> Option<Vec<u8>> {
        None
    }

    fn put(&mut self, _key: K, _value: Vec<u8>) {}
}

pub struct Error;
