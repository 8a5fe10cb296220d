SET GLOBAL read_only = ON;
