package tensor
const wino43MinTilesValue = 48
