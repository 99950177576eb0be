// replaced by the console implementation
