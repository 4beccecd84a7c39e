import{bE as i}from"./index-CxCIxW2s.js";const n=o=>["",...i].includes(o);export{n as i};
