"""Running the sides: worker processes, the protocol they speak, their records, and stored TF1
records. No TensorFlow here."""
