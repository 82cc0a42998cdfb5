//! Token ids against transformers' CLIPTokenizer (tests/data/clip/tokenizer_ids.json, written by
//! scripts/clip_reference.py from OpenAI's BPE file).

use calip3d::encode::tokenizer::{ClipTokenizer, END_TOKEN, START_TOKEN};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tokenizer() -> ClipTokenizer {
    ClipTokenizer::from_file(&root().join("assets/clip/tokenizer.json"), 77).unwrap()
}

#[test]
fn ids_match_transformers() {
    let tok = tokenizer();
    let cases: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/clip/tokenizer_ids.json")).unwrap(),
    )
    .unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(tok.ids(text).unwrap(), want, "{text:?}");
    }
}

#[test]
fn a_photo_of_a_cat() {
    assert_eq!(
        tokenizer().ids("a photo of a cat").unwrap(),
        [49406, 320, 1125, 539, 320, 2368, 49407]
    );
}

#[test]
fn long_text_is_truncated_keeping_the_end_token() {
    let tok = tokenizer();
    let t = tok.encode(&"dog ".repeat(200)).unwrap();
    assert_eq!(t.ids.len(), 77);
    assert_eq!(t.ids[0], START_TOKEN);
    assert_eq!(t.ids[76], END_TOKEN);
    assert_eq!(t.eot, 76);
    assert!(t.ids[1..76]
        .iter()
        .all(|&i| i == t.ids[1] && i != END_TOKEN));
}

#[test]
fn short_text_is_padded_after_the_end_token() {
    let t = tokenizer().encode("a photo of a cat").unwrap();
    assert_eq!(t.ids.len(), 77);
    assert_eq!(t.eot, 6);
    assert_eq!(&t.ids[..7], &[49406, 320, 1125, 539, 320, 2368, 49407]);
}

#[test]
fn missing_tokenizer_file_is_named() {
    let err = ClipTokenizer::from_file(&root().join("nope/tokenizer.json"), 77)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("nope/tokenizer.json"), "{err}");
}
