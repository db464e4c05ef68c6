from tf_equiv.cli import main

main()
