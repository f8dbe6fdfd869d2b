//! Large zeroed buffers backed by transparent huge pages where the kernel
//! gives them on request (`/sys/kernel/mm/transparent_hugepage/enabled` set
//! to `madvise`, as on the machine this was measured on, or `always`).
//!
//! A region of a cube is hundreds of MB written once: in 4 KiB pages it
//! costs one page fault per page (about 60 000 for 230 steps of 512 x 512
//! float32), in 2 MiB pages a few hundred. Elsewhere (THP `never`, another
//! OS) the buffer is a plain zeroed `Vec`.

/// Buffers smaller than this gain little and stay in plain pages.
const HUGE: usize = 2 << 20;

/// A vector of `len` zeroed (`T::default()`) values, its pages advised as
/// huge before anything touches them.
pub fn zeroed<T: Copy + Default>(len: usize) -> Vec<T> {
    // A zero default makes this a calloc: fresh pages, not yet touched.
    let mut v = vec![T::default(); len];
    advise_huge(&mut v);
    v
}

/// Asks the kernel for huge pages behind `buf` (advice only: ignored
/// where it cannot be followed).
#[cfg(target_os = "linux")]
fn advise_huge<T>(buf: &mut [T]) {
    let bytes = std::mem::size_of_val(buf);
    if bytes < HUGE {
        return;
    }
    // madvise takes page-aligned ranges: the whole pages inside the buffer.
    let start = buf.as_mut_ptr() as usize;
    let page = 4096;
    let first = start.next_multiple_of(page);
    let end = (start + bytes) / page * page;
    if end > first {
        // SAFETY: [first, end) lies inside `buf`, which this thread holds
        // mutably; MADV_HUGEPAGE changes how its pages are backed, never
        // its contents.
        #[allow(unsafe_code)]
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge<T>(_buf: &mut [T]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_buffers_are_zero_and_writable() {
        for len in [0usize, 7, HUGE / 4 + 3, 3 * HUGE / 4] {
            let mut v: Vec<f32> = zeroed(len);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|&x| x.to_bits() == 0));
            for (i, x) in v.iter_mut().enumerate() {
                *x = f32::from_bits(i as u32);
            }
            assert!(v.iter().enumerate().all(|(i, &x)| x.to_bits() == i as u32));
        }
        let b: Vec<u8> = zeroed(HUGE + 1);
        assert!(b.iter().all(|&x| x == 0));
    }
}
