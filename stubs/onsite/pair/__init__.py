"""The pair: the two nodes prove to each other they run the same bundle and the same site."""
