SET PASSWORD FOR 'root'@'localhost' = PASSWORD('ROOT-PW');
