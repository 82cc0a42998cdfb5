//! Classify one point-cloud file from library code.
//!
//! ```text
//! cargo run --release --example classify_file -- scan.ply chair,table,lamp [MODEL]
//! ```
//! MODEL is a CLIP folder in the Hugging Face layout or a Hub repo id (default
//! openai/clip-vit-base-patch32, downloaded once when online).

use calip3d::classify::{ClassList, Classifier, DEFAULT_MODEL};
use calip3d::project::Projection;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, class_names, rest @ ..] = args.as_slice() else {
        eprintln!("usage: classify_file FILE CLASSES [MODEL]");
        std::process::exit(1);
    };
    let model = rest.first().map(String::as_str).unwrap_or(DEFAULT_MODEL);

    let classifier = Classifier::builder()
        .model(model)
        .projection(Projection::Realistic)
        .build()?;
    // A classes file, a built-in list's name, or a comma list: what `--classes` takes.
    let classes = classifier.class_list(&ClassList::from_arg(class_names)?)?;

    let prediction = classifier.classify_file(Path::new(file), &classes)?;
    for (class, probability) in prediction.top(3) {
        println!("{class:>16}  {probability:.3}");
    }
    Ok(())
}
