"""HTTP edge pieces every service shares."""
