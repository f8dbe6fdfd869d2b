//! GeoZarr writer (in progress).
