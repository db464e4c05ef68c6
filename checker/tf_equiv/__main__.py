from tf_equiv.cli import run

run()
