//! The linear unit of a LAS file's coordinate reference system, so that metric defaults (a scene's
//! SMRF cell, link distance, height cut-off) can be scaled to a tile in feet.
//!
//! Two places hold it (LAS 1.4 R15 §2.5): the OGC WKT VLR (`LASF_Projection`, record 2112, also
//! as an EVLR) and the GeoTIFF key directory (`LASF_Projection`, record 34735), whose
//! `ProjLinearUnitsGeoKey` (3076) and `VerticalUnitsGeoKey` (4099) hold an EPSG unit code: 9001
//! metre, 9002 foot, 9003 US survey foot. The WKT is preferred when both are there (LAS 1.4 makes
//! it the normative one for formats 6–10).

/// A linear unit and where it was read from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinearUnit {
    /// Its name, as the CRS spells it (`US survey foot`, `metre`, …).
    pub name: String,
    /// Metres in one unit.
    pub metres: f64,
    /// `wkt` or `geotiff`.
    pub source: &'static str,
}

/// GeoTIFF keys that hold a linear unit: the projected CRS's, then the vertical one's.
const PROJ_LINEAR_UNITS: u16 = 3076;
const VERTICAL_UNITS: u16 = 4099;

/// The EPSG unit codes GeoTIFF files use for lengths.
fn epsg_unit(code: u16) -> Option<(&'static str, f64)> {
    match code {
        9001 => Some(("metre", 1.0)),
        9002 => Some(("foot", 0.3048)),
        9003 => Some(("US survey foot", 1200.0 / 3937.0)),
        _ => None,
    }
}

/// The linear unit stated by a LAS file's VLRs and EVLRs, or None when they state none (no CRS,
/// a geographic CRS in degrees, or a unit this reader does not know).
pub fn linear_unit<'a>(vlrs: impl IntoIterator<Item = &'a las::Vlr>) -> Option<LinearUnit> {
    let projection: Vec<&las::Vlr> = vlrs
        .into_iter()
        .filter(|v| v.user_id == "LASF_Projection")
        .collect();
    let wkt = projection
        .iter()
        .filter(|v| v.record_id == 2112)
        .find_map(|v| wkt_unit(&String::from_utf8_lossy(&v.data)));
    wkt.or_else(|| {
        projection
            .iter()
            .filter(|v| v.record_id == 34735)
            .find_map(|v| geotiff_unit(&v.data))
    })
}

/// The linear unit of a GeoTIFF key directory: `ProjLinearUnitsGeoKey`, else
/// `VerticalUnitsGeoKey`, when stored in the directory itself (location 0).
pub fn geotiff_unit(data: &[u8]) -> Option<LinearUnit> {
    let words: Vec<u16> = data
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    let n = *words.get(3)? as usize;
    let keys = words.get(4..)?.chunks_exact(4).take(n);
    let value = |wanted: u16| {
        keys.clone()
            .find(|k| k[0] == wanted && k[1] == 0)
            .map(|k| k[3])
    };
    let code = value(PROJ_LINEAR_UNITS).or_else(|| value(VERTICAL_UNITS))?;
    let (name, metres) = epsg_unit(code)?;
    Some(LinearUnit {
        name: name.to_string(),
        metres,
        source: "geotiff",
    })
}

/// A WKT value: a keyword with bracketed arguments, a quoted string or a number.
#[derive(Debug, Clone, PartialEq)]
enum Wkt {
    Node(String, Vec<Wkt>),
    Text(String),
    Number(f64),
}

/// Parses WKT 1 or WKT 2 (either bracket style) into its tree; None when it is not WKT.
fn parse_wkt(s: &str) -> Option<Wkt> {
    let chars: Vec<char> = s
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .chars()
        .collect();
    let mut pos = 0;
    let v = parse_value(&chars, &mut pos, 0)?;
    matches!(v, Wkt::Node(..)).then_some(v)
}

/// Nodes nested deeper than this are refused (a CRS is a few levels deep; this bounds recursion).
const MAX_WKT_DEPTH: usize = 64;

fn skip_space(c: &[char], pos: &mut usize) {
    while *pos < c.len() && c[*pos].is_whitespace() {
        *pos += 1;
    }
}

fn parse_value(c: &[char], pos: &mut usize, depth: usize) -> Option<Wkt> {
    if depth > MAX_WKT_DEPTH {
        return None;
    }
    skip_space(c, pos);
    let first = *c.get(*pos)?;
    if first == '"' {
        let mut text = String::new();
        *pos += 1;
        loop {
            let ch = *c.get(*pos)?;
            *pos += 1;
            if ch == '"' {
                // A doubled quote is a quote inside the string.
                if c.get(*pos) == Some(&'"') {
                    text.push('"');
                    *pos += 1;
                } else {
                    return Some(Wkt::Text(text));
                }
            } else {
                text.push(ch);
            }
        }
    }
    let start = *pos;
    while *pos < c.len() && !matches!(c[*pos], '[' | '(' | ']' | ')' | ',') {
        *pos += 1;
    }
    let word: String = c[start..*pos].iter().collect::<String>().trim().to_string();
    skip_space(c, pos);
    if matches!(c.get(*pos), Some('[' | '(')) {
        *pos += 1;
        let mut args = Vec::new();
        loop {
            skip_space(c, pos);
            if matches!(c.get(*pos), Some(']' | ')')) {
                *pos += 1;
                return Some(Wkt::Node(word.to_ascii_uppercase(), args));
            }
            args.push(parse_value(c, pos, depth + 1)?);
            skip_space(c, pos);
            match c.get(*pos)? {
                ',' => *pos += 1,
                ']' | ')' => {}
                _ => return None,
            }
        }
    }
    match word.parse::<f64>() {
        Ok(x) => Some(Wkt::Number(x)),
        // An enumeration value (AXIS["x", EAST]) is kept as text.
        Err(_) if !word.is_empty() => Some(Wkt::Text(word)),
        Err(_) => None,
    }
}

fn children(args: &[Wkt]) -> impl Iterator<Item = (&str, &[Wkt])> {
    args.iter().filter_map(|a| match a {
        Wkt::Node(k, v) => Some((k.as_str(), v.as_slice())),
        _ => None,
    })
}

/// A `UNIT["name", factor]` or `LENGTHUNIT["name", factor]` node's unit.
fn unit_node(args: &[Wkt]) -> Option<(String, f64)> {
    match (args.first()?, args.get(1)?) {
        (Wkt::Text(name), Wkt::Number(f)) if *f > 0.0 && f.is_finite() => Some((name.clone(), *f)),
        _ => None,
    }
}

/// The horizontal linear unit of a CRS node: a projected CRS's own unit (WKT 1 `PROJCS`'s
/// `UNIT`, WKT 2 `PROJCRS`'s `LENGTHUNIT` or its axes'), the first such unit of a compound CRS,
/// a bound CRS's source; a geographic CRS has none.
fn crs_unit(key: &str, args: &[Wkt]) -> Option<(String, f64)> {
    match key {
        "PROJCS" => children(args)
            .find(|(k, _)| *k == "UNIT")
            .and_then(|(_, a)| unit_node(a)),
        "PROJCRS" | "PROJECTEDCRS" => {
            let direct = children(args).find(|(k, _)| matches!(*k, "LENGTHUNIT" | "UNIT"));
            let on_axis = || {
                children(args)
                    .filter(|(k, _)| *k == "AXIS")
                    .find_map(|(_, a)| children(a).find(|(k, _)| *k == "LENGTHUNIT"))
            };
            direct.or_else(on_axis).and_then(|(_, a)| unit_node(a))
        }
        "COMPD_CS" | "COMPOUNDCRS" => children(args).find_map(|(k, a)| crs_unit(k, a)),
        "BOUNDCRS" => children(args)
            .find(|(k, _)| *k == "SOURCECRS")
            .and_then(|(_, a)| children(a).find_map(|(k, a)| crs_unit(k, a))),
        _ => None,
    }
}

/// The horizontal linear unit of an OGC WKT CRS (1 or 2), or None.
pub fn wkt_unit(wkt: &str) -> Option<LinearUnit> {
    let Wkt::Node(key, args) = parse_wkt(wkt)? else {
        return None;
    };
    let (name, metres) = crs_unit(&key, &args)?;
    Some(LinearUnit {
        name,
        metres,
        source: "wkt",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEET_WKT1: &str = r#"COMPD_CS["NAD83 / Oregon GIC Lambert (ft) + NAVD88 height (ftUS)",PROJCS["NAD83 / Oregon GIC Lambert (ft)",GEOGCS["NAD83",DATUM["North_American_Datum_1983",SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic_2SP"],UNIT["foot",0.3048,AUTHORITY["EPSG","9002"]]],VERT_CS["NAVD88 height (ftUS)",VERT_DATUM["North American Vertical Datum 1988",2005],UNIT["US survey foot",0.304800609601219]]]"#;

    #[test]
    fn wkt1_and_wkt2_units_are_the_projected_crs_own() {
        let u = wkt_unit(FEET_WKT1).unwrap();
        assert_eq!(
            (u.name.as_str(), u.metres, u.source),
            ("foot", 0.3048, "wkt")
        );
        let wkt2 = r#"PROJCRS["NAD83 / Texas Central (ftUS)",BASEGEOGCRS["NAD83",ANGLEUNIT["degree",0.0174532925199433]],CONVERSION["SPCS83 Texas Central zone (US Survey feet)",METHOD["Lambert Conic Conformal (2SP)"]],CS[Cartesian,2],AXIS["easting (X)",east,ORDER[1],LENGTHUNIT["US survey foot",0.304800609601219]],AXIS["northing (Y)",north,ORDER[2],LENGTHUNIT["US survey foot",0.304800609601219]]]"#;
        let u = wkt_unit(wkt2).unwrap();
        assert_eq!(u.name, "US survey foot");
        assert!((u.metres - 1200.0 / 3937.0).abs() < 1e-12);
        let utm = "PROJCS[\"WGS 84 / UTM zone 10N\",GEOGCS[\"WGS 84\",UNIT[\"degree\",0.01745]],UNIT[\"metre\",1]]\0";
        assert_eq!(wkt_unit(utm).unwrap().metres, 1.0);
        // Geographic: degrees are no length.
        assert_eq!(
            wkt_unit("GEOGCS[\"WGS 84\",UNIT[\"degree\",0.01745]]"),
            None
        );
        for bad in [
            "",
            "PROJCS[",
            "PROJCS[\"a\",UNIT[\"x\",-1]]",
            "not wkt",
            "[[[[]",
        ] {
            assert_eq!(wkt_unit(bad), None, "{bad:?}");
        }
        let deep = "A[".repeat(10_000);
        assert_eq!(wkt_unit(&deep), None);
    }

    #[test]
    fn geotiff_keys_give_the_linear_unit() {
        let words = |w: &[u16]| w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        // Version 1.1.0, 2 keys: GTModelType = 1 (projected), ProjLinearUnits = 9003.
        let dir = words(&[1, 1, 0, 2, 1024, 0, 1, 1, 3076, 0, 1, 9003]);
        let u = geotiff_unit(&dir).unwrap();
        assert_eq!((u.name.as_str(), u.source), ("US survey foot", "geotiff"));
        let vertical_only = words(&[1, 1, 0, 1, 4099, 0, 1, 9002]);
        assert_eq!(geotiff_unit(&vertical_only).unwrap().metres, 0.3048);
        assert_eq!(geotiff_unit(&words(&[1, 1, 0, 1, 1024, 0, 1, 2])), None);
        // A count larger than the keys present, a short buffer.
        assert_eq!(
            geotiff_unit(&words(&[1, 1, 0, 9, 3076, 0, 1, 9001]))
                .unwrap()
                .metres,
            1.0
        );
        assert_eq!(geotiff_unit(&[1, 0, 1]), None);
    }
}
