//! Points on the Earth, great-circle distances, and the exact "k nearest
//! within R km among those that pass a test" search over shops.
//!
//! Distances are haversine on a sphere of the mean Earth radius (IUGG,
//! 6371.0088 km): within 0.5 % of the ellipsoid everywhere, which is far
//! below what matters for "the nearest shop".

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Mean Earth radius (IUGG), in km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A position in degrees (WGS 84), validated: latitude in [-90, 90],
/// longitude in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "(f64, f64)", into = "(f64, f64)")]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<GeoPoint, FieldError> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(FieldError::new(
                "latitude",
                format!("{lat} is not within -90..90"),
            ));
        }
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(FieldError::new(
                "longitude",
                format!("{lon} is not within -180..180"),
            ));
        }
        Ok(GeoPoint { lat, lon })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }
}

impl TryFrom<(f64, f64)> for GeoPoint {
    type Error = FieldError;
    fn try_from((lat, lon): (f64, f64)) -> Result<Self, FieldError> {
        GeoPoint::new(lat, lon)
    }
}

impl From<GeoPoint> for (f64, f64) {
    fn from(p: GeoPoint) -> (f64, f64) {
        (p.lat, p.lon)
    }
}

/// Great-circle distance in km (haversine).
pub fn distance_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (pa, pb) = (Radians::of(a), Radians::of(b));
    central_angle(hav(&pa, &pb))
}

/// A point in radians with the cosine of its latitude, so that the search
/// pays one `sin` pair per candidate and no `asin` until the end.
#[derive(Debug, Clone, Copy)]
struct Radians {
    lat: f64,
    lon: f64,
    cos_lat: f64,
}

impl Radians {
    fn of(p: GeoPoint) -> Radians {
        let lat = p.lat.to_radians();
        Radians {
            lat,
            lon: p.lon.to_radians(),
            cos_lat: lat.cos(),
        }
    }
}

fn sin2_half(x: f64) -> f64 {
    let s = (x / 2.0).sin();
    s * s
}

/// The haversine of the central angle: increasing with distance, so
/// candidates are compared on it. It is at least `sin²(Δlat/2)`, the term
/// that the latitude-ordered search uses as its lower bound.
fn hav(a: &Radians, b: &Radians) -> f64 {
    sin2_half(b.lat - a.lat) + a.cos_lat * b.cos_lat * sin2_half(b.lon - a.lon)
}

fn central_angle(h: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * h.clamp(0.0, 1.0).sqrt().asin()
}

/// The haversine that corresponds to `km` (anything beyond half the globe
/// is everything).
fn hav_of_km(km: f64) -> f64 {
    if km.is_nan() || km < 0.0 {
        -1.0
    } else if km >= std::f64::consts::PI * EARTH_RADIUS_KM {
        1.0
    } else {
        sin2_half(km / EARTH_RADIUS_KM)
    }
}

/// One hit of a search: the item's index (its position in the points the
/// index was built from) and its distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearby {
    pub item: u32,
    pub distance_km: f64,
}

/// Points sorted by latitude. A search walks outwards from the query's
/// latitude on both sides and stops when the latitude gap alone exceeds the
/// current k-th best distance (or the radius): exact, and it visits only a
/// band of the points. Built once per set of shops (sorting 1,000 points
/// takes microseconds; shops change rarely).
#[derive(Debug, Clone, Default)]
pub struct NearestIndex {
    by_lat: Vec<(Radians, u32)>,
    by_item: Vec<Radians>,
}

/// A candidate in the k-best heap: the worst (largest haversine, then
/// largest index) is on top.
#[derive(Clone, Copy, PartialEq)]
struct Candidate(f64, u32);
impl Eq for Candidate {}
impl Ord for Candidate {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The k best candidates within the radius.
struct Best {
    k: usize,
    limit: f64,
    heap: BinaryHeap<Candidate>,
}

impl Best {
    fn new(k: usize, within_km: f64) -> Option<Best> {
        let limit = hav_of_km(within_km);
        (k > 0 && limit >= 0.0).then(|| Best {
            k,
            limit,
            heap: BinaryHeap::with_capacity(k + 1),
        })
    }

    /// What a candidate must not exceed to be kept.
    fn bound(&self) -> f64 {
        match self.heap.peek() {
            Some(worst) if self.heap.len() == self.k => worst.0.min(self.limit),
            _ => self.limit,
        }
    }

    /// Whether `c` would enter (before asking the caller's test).
    fn admits(&self, c: Candidate) -> bool {
        c.0 <= self.limit && (self.heap.len() < self.k || self.heap.peek().is_some_and(|w| c < *w))
    }

    fn push(&mut self, c: Candidate) {
        self.heap.push(c);
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }
}

impl NearestIndex {
    /// Item `i` of every result is `points[i]`.
    pub fn new(points: &[GeoPoint]) -> NearestIndex {
        let by_item: Vec<Radians> = points.iter().map(|p| Radians::of(*p)).collect();
        let mut by_lat: Vec<(Radians, u32)> =
            by_item.iter().enumerate().map(|(i, p)| (*p, i as u32)).collect();
        by_lat.sort_by(|a, b| a.0.lat.total_cmp(&b.0.lat).then(a.1.cmp(&b.1)));
        NearestIndex { by_lat, by_item }
    }

    pub fn len(&self) -> usize {
        self.by_item.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_item.is_empty()
    }

    /// The `k` nearest items to `from` within `within_km` for which `keep`
    /// holds, nearest first (ties by index). `keep` is asked only about
    /// items close enough to enter the result, so it may be a stock lookup.
    pub fn nearest(
        &self,
        from: GeoPoint,
        k: usize,
        within_km: f64,
        mut keep: impl FnMut(u32) -> bool,
    ) -> Vec<Nearby> {
        let Some(mut best) = Best::new(k, within_km) else {
            return Vec::new();
        };
        let q = Radians::of(from);
        let start = self.by_lat.partition_point(|(p, _)| p.lat < q.lat);
        let (mut down, mut up) = (start, start); // next: by_lat[down - 1], by_lat[up]
        loop {
            let gap_down = (down > 0).then(|| sin2_half(q.lat - self.by_lat[down - 1].0.lat));
            let gap_up = (up < self.by_lat.len()).then(|| sin2_half(self.by_lat[up].0.lat - q.lat));
            let (gap, i) = match (gap_down, gap_up) {
                (Some(d), Some(u)) if d <= u => (d, down - 1),
                (Some(d), None) => (d, down - 1),
                (_, Some(u)) => (u, up),
                (None, None) => break,
            };
            // Every point further out on either side is at least this far
            // (equal may still win a tie on its index).
            if gap > best.bound() {
                break;
            }
            if i < start {
                down -= 1;
            } else {
                up += 1;
            }
            let (p, item) = self.by_lat[i];
            let c = Candidate(hav(&q, &p), item);
            if best.admits(c) && keep(item) {
                best.push(c);
            }
        }
        finish(best)
    }

    /// The same search over a given subset of items (e.g. the shops that
    /// stock a rare product), by brute force: exact, and cheaper than
    /// walking the band when the subset is small. Items must be distinct;
    /// unknown ones are skipped.
    pub fn nearest_among(
        &self,
        from: GeoPoint,
        k: usize,
        within_km: f64,
        items: impl IntoIterator<Item = u32>,
    ) -> Vec<Nearby> {
        let Some(mut best) = Best::new(k, within_km) else {
            return Vec::new();
        };
        let q = Radians::of(from);
        for item in items {
            let Some(p) = self.by_item.get(item as usize) else {
                continue;
            };
            let c = Candidate(hav(&q, p), item);
            if best.admits(c) {
                best.push(c);
            }
        }
        finish(best)
    }
}

fn finish(best: Best) -> Vec<Nearby> {
    best.heap
        .into_sorted_vec()
        .into_iter()
        .map(|Candidate(h, item)| Nearby {
            item,
            distance_km: central_angle(h),
        })
        .collect()
}

#[cfg(test)]
mod tests;
