ALTER USER 'root'@'localhost' IDENTIFIED BY 'ROOT-PW';
