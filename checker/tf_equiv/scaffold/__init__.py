"""`tf-equiv init`: an equivalence module written from what a team already has."""
