"""The only code that imports TensorFlow and user code: one side of one pair per process
(`python -m tf_equiv.worker`), and the localization workers."""
