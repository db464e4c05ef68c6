"""Planning: which modules, pairs and checks run, in which shard, and where the reports go.
No TensorFlow here."""
