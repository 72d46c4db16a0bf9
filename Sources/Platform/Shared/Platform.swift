// Every group and job reads its settings through the configuration types.
@_exported import Settings
