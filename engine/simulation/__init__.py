"""Policy simulation: a candidate policy against the baseline on a whole portfolio, and what it would change."""
