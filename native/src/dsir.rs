//! DSIR featurization and scoring. (Being written.)
