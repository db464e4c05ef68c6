from tf_equiv.stopping import main

main()
