from ecompipe.cli import main

main()
