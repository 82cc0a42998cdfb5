//! What every fuzz target shares: an allocator that turns one huge allocation into a finding,
//! and the call into calip3d's in-memory reader.

use std::alloc::{GlobalAlloc, Layout, System};

/// The largest single allocation a reader may make on a fuzz input (the same 2 GiB as
/// `-malloc_limit_mb=2048`, which libFuzzer enforces only in sanitizer builds).
const MALLOC_LIMIT: usize = 2048 << 20;

/// The system allocator, aborting (a libFuzzer crash, with the input saved) on any allocation
/// over [`MALLOC_LIMIT`]: a size taken from the file that was not checked against it.
pub struct LimitedAlloc;

unsafe impl GlobalAlloc for LimitedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

fn check(size: usize) {
    if size > MALLOC_LIMIT {
        // No formatting here: it could allocate inside the allocator.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"==fuzz== an allocation over 2048 MiB (malloc limit)\n",
        );
        std::process::abort();
    }
}

#[global_allocator]
static ALLOC: LimitedAlloc = LimitedAlloc;

/// Reads `data` as a file with extension `ext`, as `calip3d::load::load` would. Errors are the
/// expected outcome for most inputs; only an abort, a hang, or a panic that escapes is a finding.
///
/// With `CALIP3D_FUZZ_LAST=FILE` each input is first written to FILE, so that an input that kills
/// the process before libFuzzer can save it (a stack overflow: its handler runs on the same
/// stack) is still on disk; replay the run with the same `-seed` and seed corpus to get it.
pub fn read(data: &[u8], ext: &str) {
    static LAST: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    if let Some(path) = LAST.get_or_init(|| std::env::var_os("CALIP3D_FUZZ_LAST").map(Into::into)) {
        let _ = std::fs::write(path, data);
    }
    let opts = calip3d::load::LoadOptions::default();
    let _ = calip3d::load::load_bytes(data, ext, &opts);
}

/// Replaces libFuzzer's abort-on-any-panic hook: a panic in calip3d's own code is a finding
/// (abort, the input is saved), our own LAZ GPS time decoder included; a panic in a third-party
/// decoder (a path under the cargo registry) is what `calip3d::load` contains and reports as an
/// error, so it is let through to that containment, silently. Locations in std
/// (`/rustc/…`, e.g. an overflowing `sum`) are reached from either and let through too.
pub fn init() {
    std::panic::set_hook(Box::new(|info| {
        let file = info.location().map_or("", |l| l.file());
        // std's own locations (`/rustc/…`) are left alone too: they are reached from either.
        let third_party = file.contains("/registry/");
        if !third_party && !file.starts_with("/rustc/") {
            eprintln!("==fuzz== calip3d panicked: {info}");
            std::process::abort();
        }
    }));
}
