-- Which of the given asset names have any version in the inventory.
-- Parameters: names (Array(String)). Output: asset.
SELECT DISTINCT asset FROM assets WHERE has(?, asset)
