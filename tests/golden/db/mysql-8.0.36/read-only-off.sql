SET GLOBAL super_read_only = OFF;
SET GLOBAL read_only = OFF;
