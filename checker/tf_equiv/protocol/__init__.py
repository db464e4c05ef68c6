"""The vocabulary the parent and its workers share, typed: the requests going down
(`requests.py`, `relays.py`) and a pair's settings coming up (`settings.py`). Imported by both
sides, so it imports no TensorFlow and nothing of the parent's (`run/`) or the worker's
(`worker/`)."""
