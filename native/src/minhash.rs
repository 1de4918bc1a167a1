//! MinHash shingles, signatures and bands. (Being written.)
