DROP TABLE attack_tree_nodes;
DROP TABLE attack_trees;
DROP TABLE threat_actors;
