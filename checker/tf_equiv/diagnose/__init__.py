"""Extra information about a failure that never changes its verdict: explanations, localization,
artifacts. No TensorFlow here."""
