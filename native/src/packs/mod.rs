//! The four rule packs (gopher_quality, gopher_repetition, c4, fineweb). (Being written: see the helper's task.)
