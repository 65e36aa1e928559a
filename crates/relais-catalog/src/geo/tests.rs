use super::*;
use crate::rng::Rng;

fn pt(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint::new(lat, lon).unwrap()
}

const VERSAILLES: (f64, f64) = (48.8049, 2.1204);
const PARIS_CHATELET: (f64, f64) = (48.8584, 2.3470);
const LYON_PART_DIEU: (f64, f64) = (45.7606, 4.8593);
const LILLE_GRAND_PLACE: (f64, f64) = (50.6369, 3.0635);

#[test]
fn distances_match_a_hand_computation() {
    // By hand, on the flat approximation around the mid-latitude (good to
    // ~0.1 % at these ranges), one degree of latitude = πR/180 = 111.195 km:
    // Versailles → Châtelet: Δlat 0.0535° = 5.95 km north, Δlon 0.2266° ×
    // cos 48.83° × 111.195 = 16.59 km east → √(5.95² + 16.59²) = 17.62 km.
    // Versailles → Lille: 1.8320° = 203.71 km north, 0.9431° × cos 49.72° ×
    // 111.195 = 67.80 km east → 214.70 km. (Paris → Lille is the ~204 km.)
    // Versailles → Lyon: 3.0443° = 338.51 km south, 2.7389° × cos 47.28° ×
    // 111.195 = 206.60 km east → 396.58 km.
    let v = pt(VERSAILLES.0, VERSAILLES.1);
    let cases = [
        (PARIS_CHATELET, 17.62),
        (LILLE_GRAND_PLACE, 214.69),
        (LYON_PART_DIEU, 396.52),
    ];
    for ((lat, lon), km) in cases {
        let d = distance_km(v, pt(lat, lon));
        assert!((d - km).abs() < 0.01, "{lat},{lon}: {d} km, expected {km}");
        assert_eq!(d, distance_km(pt(lat, lon), v), "symmetric");
    }
    let paris_lille = distance_km(pt(PARIS_CHATELET.0, PARIS_CHATELET.1), pt(50.6369, 3.0635));
    assert!((paris_lille - 204.35).abs() < 0.01, "{paris_lille}");
    assert_eq!(distance_km(v, v), 0.0);
    // Half the circumference between antipodes; a quarter pole to equator.
    let half = std::f64::consts::PI * EARTH_RADIUS_KM;
    assert!((distance_km(pt(0.0, 0.0), pt(0.0, 180.0)) - half).abs() < 1e-6);
    assert!((distance_km(pt(90.0, 0.0), pt(0.0, 77.0)) - half / 2.0).abs() < 1e-6);
    // Across the antimeridian: 0.2° of longitude on the equator.
    let across = distance_km(pt(0.0, 179.9), pt(0.0, -179.9));
    assert!((across - 0.2 * half / 180.0).abs() < 1e-6, "{across}");
}

#[test]
fn points_out_of_range_are_refused_with_the_field() {
    assert_eq!(
        GeoPoint::new(91.0, 0.0).unwrap_err(),
        FieldError::new("latitude", "91 is not within -90..90")
    );
    assert_eq!(GeoPoint::new(0.0, -180.5).unwrap_err().field, "longitude");
    assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
    assert!(GeoPoint::new(-90.0, 180.0).is_ok());
    let p: GeoPoint = serde_json::from_str("[48.8584, 2.347]").unwrap();
    assert_eq!((p.lat(), p.lon()), PARIS_CHATELET);
    assert!(serde_json::from_str::<GeoPoint>("[100, 2]").is_err());
}

#[test]
fn nearest_honours_k_radius_and_the_test() {
    let shops = [PARIS_CHATELET, LYON_PART_DIEU, LILLE_GRAND_PLACE].map(|(a, b)| pt(a, b));
    let index = NearestIndex::new(&shops);
    let v = pt(VERSAILLES.0, VERSAILLES.1);
    let items = |hits: Vec<Nearby>| hits.iter().map(|h| h.item).collect::<Vec<_>>();
    assert_eq!(items(index.nearest(v, 3, f64::INFINITY, |_| true)), [0, 2, 1]);
    assert_eq!(items(index.nearest(v, 1, 1000.0, |i| i != 0)), [2]);
    assert_eq!(items(index.nearest(v, 5, 100.0, |i| i != 0)), Vec::<u32>::new());
    assert_eq!(items(index.nearest(v, 5, 17.0, |_| true)), Vec::<u32>::new());
    assert_eq!(items(index.nearest(v, 5, 18.0, |_| true)), [0]);
    assert_eq!(items(index.nearest(v, 0, 1000.0, |_| true)), Vec::<u32>::new());
    assert_eq!(items(index.nearest(v, 1, -1.0, |_| true)), Vec::<u32>::new());
    let lille = index.nearest(v, 1, 250.0, |i| i == 2);
    assert_eq!(lille[0].distance_km, distance_km(v, shops[2]));
    assert_eq!(items(index.nearest_among(v, 2, 500.0, [1, 2, 9])), [2, 1]);
    assert!(NearestIndex::new(&[]).nearest(v, 1, 10.0, |_| true).is_empty());
}

/// Every result, the long way round: all points, sorted by distance then index.
fn brute(
    points: &[GeoPoint],
    from: GeoPoint,
    k: usize,
    km: f64,
    keep: impl Fn(u32) -> bool,
) -> Vec<(u32, f64)> {
    let mut all: Vec<(u32, f64)> = (0..points.len() as u32)
        .filter(|&i| keep(i))
        .map(|i| (i, distance_km(from, points[i as usize])))
        .filter(|&(_, d)| d <= km)
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn random_points(rng: &mut Rng, n: usize) -> Vec<GeoPoint> {
    (0..n)
        .map(|i| match i % 4 {
            // Worldwide, a dense cluster (France), and the awkward places:
            // both sides of the antimeridian and near the poles.
            0 => pt(rng.range_f64(-90.0, 90.0), rng.range_f64(-180.0, 180.0)),
            1 => pt(rng.range_f64(43.0, 51.0), rng.range_f64(-4.0, 8.0)),
            2 => {
                let lon = if rng.below(2) == 0 {
                    rng.range_f64(178.0, 180.0)
                } else {
                    rng.range_f64(-180.0, -178.0)
                };
                pt(rng.range_f64(-60.0, 60.0), lon)
            }
            _ => pt(
                rng.range_f64(85.0, 90.0) * if rng.below(2) == 0 { 1.0 } else { -1.0 },
                rng.range_f64(-180.0, 180.0),
            ),
        })
        .collect()
}

#[test]
fn nearest_is_exact_against_brute_force() {
    let mut rng = Rng::new(20_240_611);
    for round in 0..6 {
        let n = [1, 2, 50, 300, 1000, 1000][round];
        let points = random_points(&mut rng, n);
        let index = NearestIndex::new(&points);
        for _ in 0..400 {
            let from = match rng.below(3) {
                0 => points[rng.below(n as u64) as usize], // on a point: distance 0
                _ => {
                    let kinds = 1 + rng.below(4) as usize;
                    random_points(&mut rng, kinds).pop().unwrap()
                }
            };
            let k = 1 + rng.below(6) as usize;
            let km = [10.0, 100.0, 500.0, 3000.0, 25_000.0, f64::INFINITY][rng.below(6) as usize];
            // A test that rejects about half the points, varying with the query.
            let salt = rng.next_u64();
            let keep = |i: u32| (u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt) & 1 == 0;
            let want = brute(&points, from, k, km, keep);
            let mut asked = 0;
            let got = index.nearest(from, k, km, |i| {
                asked += 1;
                keep(i)
            });
            let got: Vec<(u32, f64)> = got.iter().map(|h| (h.item, h.distance_km)).collect();
            assert_eq!(got.len(), want.len(), "n={n} k={k} km={km} from={from:?}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.0, w.0, "n={n} k={k} km={km} from={from:?}");
                assert!((g.1 - w.1).abs() < 1e-6);
            }
            assert!(asked <= n);
            let subset: Vec<u32> = (0..n as u32).filter(|&i| keep(i)).collect();
            let among: Vec<u32> = index
                .nearest_among(from, k, km, subset)
                .iter()
                .map(|h| h.item)
                .collect();
            assert_eq!(among, want.iter().map(|w| w.0).collect::<Vec<_>>());
        }
    }
}

#[test]
fn the_band_walk_visits_few_points_for_a_near_hit() {
    let mut rng = Rng::new(3);
    let points: Vec<GeoPoint> = (0..1000)
        .map(|_| pt(rng.range_f64(42.0, 51.0), rng.range_f64(-4.0, 8.0)))
        .collect();
    let index = NearestIndex::new(&points);
    let mut asked = 0;
    let hit = index.nearest(pt(48.85, 2.35), 1, 50.0, |_| {
        asked += 1;
        true
    });
    assert_eq!(hit.len(), 1);
    // Only candidates that would improve the result are tested; the band of
    // ±0.45° holds ~50 of the 1,000 points.
    assert!(asked < 60, "{asked}");
}
