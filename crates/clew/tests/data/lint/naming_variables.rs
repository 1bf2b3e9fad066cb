// rule: {"type": "naming", "target": "variable", "style": "snake_case"}
pub fn f(inputValue: u32, other: u32) -> u32 { // ~
    let total_sum = inputValue + other;
    let mut runningTotal = 0; // ~
    let (first_part, secondPart) = (1, 2); // ~
    runningTotal += total_sum + first_part + secondPart;
    runningTotal
}
