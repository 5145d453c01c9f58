DROP TABLE interaction_data_assets;
DROP TABLE interactions;
DROP TABLE party_assets;
DROP TABLE parties;
