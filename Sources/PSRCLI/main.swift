import PSRCommands

PSR.main()
