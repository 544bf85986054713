import CompareCommands

CompareCommand.main()
