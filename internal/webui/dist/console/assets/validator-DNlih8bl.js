import{bp as i}from"./index-d6XCHgPu.js";const n=o=>["",...i].includes(o);export{n as i};
