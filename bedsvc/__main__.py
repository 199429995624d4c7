from bedsvc.cli import main

main()
