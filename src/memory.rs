//! Why this exists: argon2 needs a 19 MiB work area per password check. glibc's adaptive mmap
//! threshold would keep that area in the heap after the first check, so the frontend's resident size
//! would stay ~20 MiB higher for its whole life; a fixed threshold returns it on every free.

/// Large allocations (argon2's work area, big buffers) are mmap'd and unmapped when freed.
// The one reviewed `unsafe` of the workspace (`unsafe_code` is denied everywhere else): libc's
// mallopt has no safe wrapper in the crates we use.
#[allow(unsafe_code)]
pub fn return_large_allocations_to_the_system() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}
