// core/ holds pieces that two or more patterns share. Nothing here is exported publicly yet.
export {};
